"""Audit policies: the YAML file a team writes, validated with pydantic."""

from __future__ import annotations

from sia_audit.policy.loading import load_policy, policy_schema
from sia_audit.policy.models import Policy

__all__ = ["Policy", "load_policy", "policy_schema"]

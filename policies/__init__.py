"""Example policies; installed as sia_audit.demo_policies, which carries fairness.yaml only."""

"""The demo models; installed as sia_audit.demo_models, which carries eyeglasses_biased.pt and
the control's audit (eyeglasses_control.report.json, the demo's baseline) only."""

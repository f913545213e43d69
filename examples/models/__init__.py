"""The demo models; installed as sia_audit.demo_models, which carries eyeglasses_biased.pt only."""

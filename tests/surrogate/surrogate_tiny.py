"""The tiny ModernBERT used by the surrogate tests (a module with a unique name: every test folder has a conftest)."""

TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2)

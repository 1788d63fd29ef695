"""Independent PyTorch reference of the DeepSeek-V3 family (see deepseek_v3.py)."""
from .deepseek_v3 import (DeepseekV3Config, DeepseekV3ForCausalLM, ReferenceOptions,  # noqa: F401
                          load_config)

"""Every mapped table, for migrations and schema checks.

Areas keep their tables in their own modules on the shared ``Base``; import each here.
"""
from . import models  # noqa: F401
from . import api_tokens  # noqa: F401
from .access import login_guard  # noqa: F401
from . import notices  # noqa: F401
from . import devices, evidence, retention  # noqa: F401  (执法全过程记录)
from .models import Base

__all__ = ["Base"]

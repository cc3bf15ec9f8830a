"""Every mapped table, for migrations and schema checks.

Areas keep their tables in their own modules on the shared ``Base``; import each here.
"""
from disclosure import models as disclosure_models  # noqa: F401  (行政执法公示)
from engine.access import api_tokens, login_guard  # noqa: F401
from engine.inbox import notices  # noqa: F401
from engine.store import chain, models  # noqa: F401
from engine.store.models import Base
from monitoring import oversight, reviews  # noqa: F401  (督办, 法制审核 outcomes)
from paperwork import models as paperwork_models  # noqa: F401  (文书, 案卷)
from recording import devices, evidence, retention  # noqa: F401  (执法全过程记录)
from spot_checks import models as spot_check_models  # noqa: F401  (双随机一公开)
from workdays import calendar  # noqa: F401

__all__ = ["Base"]

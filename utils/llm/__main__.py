"""`python -m utils.llm start|stop|status|restart [--port N]`: manage the shared LLM server."""

from utils.llm.server import main

raise SystemExit(main())

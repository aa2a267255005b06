"""The course's LLM layer: one local model behind an OpenAI-compatible server, local embeddings.

    from utils import llm
    client = llm.openai_client()                  # OpenAI online, local server otherwise
    chat = llm.langchain_chat(temperature=0)      # LangChain ChatOpenAI
    li = llm.llamaindex_llm(temperature=0)        # LlamaIndex OpenAILike
    emb = llm.llamaindex_embedding()              # all-MiniLM-L6-v2, offline

Importing this package is cheap: the client libraries load only when a factory is called.
"""

from utils.llm.clients import (
    LOCAL_MAX_TOKENS,
    Endpoint,
    chat_model,
    embedding_model_path,
    endpoint,
    langchain_chat,
    langchain_embeddings,
    llamaindex_embedding,
    llamaindex_llm,
    openai_client,
    sentence_embedder,
    uses_openai,
)
from utils.llm.model import (
    CHAT_MODEL,
    EMBEDDING_MODEL,
    ModelError,
    ensure_embedding_model,
    ensure_model,
    verify,
)
from utils.llm.pricing import PRICES, register_costs
from utils.llm.pricing import note as pricing_note
from utils.llm.server import (
    MODEL_ALIAS,
    LLMServerError,
    PortInUseError,
    ServerInfo,
    ensure_running,
    is_running,
    stop,
)
from utils.llm.server import status as server_status

__all__ = [
    "CHAT_MODEL",
    "EMBEDDING_MODEL",
    "LOCAL_MAX_TOKENS",
    "MODEL_ALIAS",
    "PRICES",
    "Endpoint",
    "LLMServerError",
    "ModelError",
    "PortInUseError",
    "ServerInfo",
    "chat_model",
    "embedding_model_path",
    "endpoint",
    "ensure_embedding_model",
    "ensure_model",
    "ensure_running",
    "is_running",
    "langchain_chat",
    "langchain_embeddings",
    "llamaindex_embedding",
    "llamaindex_llm",
    "openai_client",
    "pricing_note",
    "register_costs",
    "sentence_embedder",
    "server_status",
    "stop",
    "uses_openai",
    "verify",
]

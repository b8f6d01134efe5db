"""Batched generation for the MLA policy: paged latent cache, radix prefix cache, continuous batching."""

from model.serving.async_engine import AsyncEngine
from model.serving.engine import Engine
from model.serving.params import EngineConfig, PromptTooLongError, SamplingParams
from model.serving.sequence import CompletionOutput, RequestOutput

__all__ = ["AsyncEngine", "CompletionOutput", "Engine", "EngineConfig", "PromptTooLongError", "RequestOutput", "SamplingParams"]

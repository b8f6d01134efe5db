"""Triton kernels for the policy, each with a plain-torch twin of the same signature.

Callers (the model and the serving engine) go through `kernels.dispatch`, which runs
Triton on CUDA (or under `TRITON_INTERPRET=1`) and the twin elsewhere:

    from kernels import dispatch
    out = dispatch.mla_decode(q_latent, q_pe, cache, block_table, seq_lens, scale)

Modules: `mla_decode` (paged MLA decode attention), `fused_moe` (routed experts),
`rmsnorm` (residual add + RMSNorm), `rope` (rotary embedding, YaRN tables), `launch`
(compiled-or-interpreted launching), `bench` (GPU timings).
"""

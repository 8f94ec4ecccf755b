"""The `steer` provider on vLLM (``-M engine=vllm``): our plugin inside vLLM's workers and the
client that runs requests through it, in-process or against ``vllm serve``.

`wire` (what travels), `worker` and `plugin` (what runs inside vLLM), `calls`, `engine`,
`server` and `loop` (the client transports), `backend` (what the provider calls).
"""

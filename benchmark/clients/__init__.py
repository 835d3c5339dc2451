"""Model clients: model strings and keys (``models``), requests and their cache keys (``requests``),
calls through LiteLLM with retries and timeouts (``calls``), LiteLLM Router fleets (``routing``) and
the embedded offline model (``embedded``)."""

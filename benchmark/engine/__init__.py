"""The run engine: plans of model × locale × condition × item cells (``runner``), conditions
(``conditions``), sharding (``shard``) and the worker processes that make remote calls (``workers``).
It reaches models through ``benchmark.clients`` and saves through the ``runner.RunSink`` protocol."""

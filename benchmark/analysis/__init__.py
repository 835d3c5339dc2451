"""Analysis over scored answers: intervals, paired tests and fragmentation (``stats``), cross-model
agreement (``agreement``) and composite indices (``composite``)."""

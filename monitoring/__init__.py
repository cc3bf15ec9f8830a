"""流程监控: counts, overdue board, throughput, case lists for managers."""

"""执法全过程记录: evidence of each step, exceptions, body-camera ledger, retention, 查阅登记簿."""

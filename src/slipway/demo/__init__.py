"""``slipway demo``: the whole story on this machine, and the traffic it is measured with."""

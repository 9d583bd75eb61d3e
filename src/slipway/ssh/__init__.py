"""SSH to a fleet: pooled asyncssh connections, host key checking, quoted remote commands."""

from slipway.ssh.pool import CommandResult, SshHost, SshPool

__all__ = ["CommandResult", "SshHost", "SshPool"]

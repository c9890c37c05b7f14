"""sysbench oltp_read_only: direct to MariaDB vs through wardgate, interleaved."""

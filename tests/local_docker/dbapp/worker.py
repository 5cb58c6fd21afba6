"""The worker: marks unprocessed jobs as processed by this host, every half second."""

import os
import socket
import time

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
    while True:
        db.execute(
            "UPDATE jobs SET processed_by = %s, processed_at = now() WHERE processed_by IS NULL",
            (socket.gethostname(),),
        )
        time.sleep(0.5)

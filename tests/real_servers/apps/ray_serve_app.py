"""A Ray Serve application (runs in Ray's venv): python ray_serve_app.py PORT CONTROL_DIR.

Serves "echo" at /echo on 127.0.0.1:PORT; deletes the application when CONTROL_DIR/delete
appears, so the route table empties while the proxy stays up.
"""

import os
import sys
import time

import ray
from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Echo:
    async def __call__(self, request) -> str:
        return "ok"


if __name__ == "__main__":
    port, control = int(sys.argv[1]), sys.argv[2]
    ray.init(num_cpus=1, include_dashboard=False, _node_ip_address="127.0.0.1")
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(Echo.bind(), name="echo", route_prefix="/echo")
    deleted = False
    while True:
        if not deleted and os.path.exists(os.path.join(control, "delete")):
            serve.delete("echo")
            deleted = True
        time.sleep(0.05)  # inside the server: waits for the test's instruction

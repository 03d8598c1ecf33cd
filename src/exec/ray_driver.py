"""The xnas <-> Ray bridge: a Ray driver that the xnas head process starts and talks to in JSON lines.

The Rust head keeps the search and the run store; this driver only runs jobs on the cluster. With
--workers persistent (the default) jobs go to a pool of Ray actors (each requesting --num-gpus /
--num-cpus), each of which keeps one long-lived `xnas-worker serve` process on its node and hands it job
after job, as the local executor's slots do: libtorch, the CUDA context and the dataset stay loaded. An
actor's worker is replaced after --recycle-after jobs or when it dies (its job is reported with the
exit status); an actor that dies (its node lost, killed) takes its job with it ("lost"), and a new one is
made when jobs wait. With --workers per-evaluation each job is one Ray task that runs `xnas-worker
evaluate` with the job on stdin. Either way the head sees the same messages.

stdin (from the head), one JSON object per line:
    {"submit": {"id": 7, "job": {...the xnas job...}}}
    {"cancel": 7}
    end of input: cancel whatever is in flight and exit
stdout (to the head), one JSON object per line:
    {"event": "ready", "ray_version": "...", "resources": {"CPU": 2.0, "GPU": 2.0, ...}, "nodes": 1}
    {"event": "finished", "id": 7, "worker": "10.0.0.3 gpu [1]", "returncode": 0,
     "stdout": "<the record JSON>", "log": "<the job's stderr>"}
    {"event": "lost", "id": 7, "error": "<why: the worker or its node died>"}
    {"event": "warning", "message": "<e.g. no node left with the GPUs an evaluation needs>"}
    {"event": "fatal", "error": "<why the driver cannot go on>"}

A job with a "model_dir" saves its trained model: the task gives `xnas-worker evaluate` a folder on its worker
(worker nodes need not share the run folder), returns the files base64-encoded with the record, and this
driver, on the head's machine, writes them under the job's "model_dir" through a staging folder renamed into
place, before it reports the job finished.

Retries are the head's business: it records every attempt in the store and submits again. So tasks
run with max_retries=0, and a non-zero exit of `xnas-worker evaluate` is a normal result, not an exception.
Written for Ray 2.60.0 (the version xnas pins); needs nothing but Ray and the standard library.
"""

import argparse
import base64
import ctypes
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PROGRESS_PREFIX = "xnas-progress "
EPOCH_PREFIX = "xnas-epoch "
PR_SET_PDEATHSIG = 1
# A saved model's files, in the order they are moved into place: the record, last, marks it complete.
MODEL_FILES = ("weights.safetensors", "model.json", "record.json")


def _die_with_parent():
    # If the Ray worker running this task dies (killed, its node lost), take `xnas-worker evaluate` with it
    # instead of leaving an orphan training on a GPU that Ray believes is free.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def evaluate(program, job_line):
    """The Ray task of --workers per-evaluation: one `xnas-worker evaluate` process. Runs on a worker node."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    job = json.loads(job_line)
    scratch = None
    if job.get("model_dir"):
        # The run folder may not exist on this node: save here, and send the files back.
        scratch = tempfile.mkdtemp(prefix="xnas-model-")
        job["model_dir"] = os.path.join(scratch, "model")
        job_line = json.dumps(job)
    proc = subprocess.run(
        [program, "evaluate"],
        input=job_line.encode(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
        env=env,
        check=False,
    )
    log = "\n".join(
        line
        for line in proc.stderr.decode(errors="replace").splitlines()
        if not line.startswith((PROGRESS_PREFIX, EPOCH_PREFIX))
    )
    return _result(proc.returncode, proc.stdout.decode(errors="replace"), log, scratch)


def _result(returncode, stdout, log, scratch):
    """What the head gets for a job: its exit status, its record, its log, where it ran, its model."""
    import ray

    gpus = ray.get_gpu_ids()
    worker = ray.util.get_node_ip_address() + (f" gpu {list(gpus)}" if gpus else "")
    result = {"returncode": returncode, "stdout": stdout, "log": log, "worker": worker}
    if scratch is not None:
        saved = os.path.join(scratch, "model")
        if returncode == 0 and all(os.path.isfile(os.path.join(saved, f)) for f in MODEL_FILES):
            model = {}
            for name in MODEL_FILES:
                with open(os.path.join(saved, name), "rb") as f:
                    model[name] = base64.b64encode(f.read()).decode("ascii")
            result["model"] = model
        shutil.rmtree(scratch, ignore_errors=True)
    return result


class EvaluationWorker:
    """A Ray actor holding one long-lived `xnas-worker serve` process on its node (see the module doc)."""

    def __init__(self, program, recycle_after):
        self.program = program
        self.recycle_after = max(1, recycle_after)
        self.proc = None
        self.served = 0
        self.log = []
        self.log_lock = threading.Lock()

    def _start(self):
        env = dict(os.environ)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.proc = subprocess.Popen(
            [self.program, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
            env=env,
        )
        self.served = 0
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()

    def _read_stderr(self, proc):
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            if not line.startswith((PROGRESS_PREFIX, EPOCH_PREFIX)):
                with self.log_lock:
                    self.log.append(line)

    def _stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def evaluate(self, job_line):
        job = json.loads(job_line)
        scratch = None
        if job.get("model_dir"):
            scratch = tempfile.mkdtemp(prefix="xnas-model-")
            job["model_dir"] = os.path.join(scratch, "model")
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        with self.log_lock:
            self.log = []
        returncode, stdout = None, ""
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            for raw in self.proc.stdout:
                try:
                    reply = json.loads(raw)
                except ValueError:
                    continue  # not a reply (a library's stray print)
                if reply.get("job") != job["id"]:
                    continue
                if "record" in reply:
                    returncode, stdout = 0, json.dumps(reply["record"])
                elif "config" in reply:
                    returncode = 78
                    with self.log_lock:
                        self.log.append(f"error: {reply['config']}")
                else:
                    returncode = 1
                    with self.log_lock:
                        self.log.append(f"error: {reply.get('error')}")
                break
        except OSError:
            pass  # the worker is gone: its exit status says how
        if returncode is None:
            # Its stdout ended before the reply: the worker died with the job (a signal is -N, as for a task).
            returncode = self.proc.wait()
            time.sleep(0.1)  # the stderr thread's last lines
            self.proc = None
        else:
            self.served += 1
            if self.served >= self.recycle_after:
                self._stop()
        with self.log_lock:
            log = "\n".join(self.log)
        return _result(returncode, stdout, log, scratch)


def save_model(target, files):
    """Writes a model's files (name -> base64) as the folder `target`, whole or not at all."""
    parent, name = os.path.split(os.path.normpath(target))
    staging = os.path.join(parent, f".{name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        for file in MODEL_FILES:
            with open(os.path.join(staging, file), "wb") as f:
                f.write(base64.b64decode(files[file]))
        try:
            os.rename(staging, target)  # replaces a missing or empty folder at once
        except OSError:
            os.makedirs(target, exist_ok=True)
            for file in MODEL_FILES:
                os.replace(os.path.join(staging, file), os.path.join(target, file))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# The protocol channel: the original stdout. Everything else that would print there (Ray's own notes,
# such as a raylet's report of a dead worker, written without a newline) goes to stderr instead, so
# it can never run into a protocol line. Set up in main().
PROTOCOL = None


def emit(message):
    PROTOCOL.write(json.dumps(message) + "\n")
    PROTOCOL.flush()


def read_stdin(inbox):
    for line in sys.stdin:
        line = line.strip()
        if line:
            inbox.put(line)
    inbox.put(None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the Ray cluster, e.g. 10.0.0.1:6379 or auto")
    parser.add_argument("--program", required=True, help="the xnas binary, at this path on every worker node")
    parser.add_argument("--num-gpus", type=float, default=1.0, help="GPUs each evaluation requests")
    parser.add_argument("--num-cpus", type=float, default=1.0, help="CPUs each evaluation requests")
    parser.add_argument("--workers", choices=("persistent", "per-evaluation"), default="persistent",
                        help="long-lived workers in a pool of actors, or one task per evaluation")
    parser.add_argument("--recycle-after", type=int, default=100, help="jobs before an actor's worker is replaced")
    args = parser.parse_args()

    global PROTOCOL
    PROTOCOL = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.exceptions
    except ImportError as e:
        emit({"event": "fatal", "error": f"cannot import ray in {sys.executable}: {e}. Install it: "
              f"{sys.executable} -m pip install ray==2.60.0 (or pass --ray-python)"})
        return 1
    if args.address != "auto":
        # Ray keeps retrying an address where nothing listens for minutes; look for a listener for
        # a few seconds (a head that is just starting), then say plainly that there is none.
        host, _, port = args.address.rpartition(":")
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
                break
            except (OSError, ValueError) as e:
                if isinstance(e, ValueError) or time.monotonic() > deadline:
                    emit({"event": "fatal", "error": f"nothing answers at {args.address} ({e}). Is `ray start "
                          f"--head` running there, and is this the port it printed (default 6379)?"})
                    return 1
                time.sleep(0.5)
    try:
        ray.init(address=args.address, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    except Exception as e:  # noqa: BLE001  (any failure to connect is reported the same way)
        emit({"event": "fatal", "error": f"cannot connect to the Ray cluster at {args.address}: {e} (the cluster "
              f"and this run must agree on RAY_AUTH_MODE: `disabled`, or `token` with the same RAY_AUTH_TOKEN_PATH)"})
        return 1
    emit({
        "event": "ready",
        "ray_version": ray.__version__,
        "resources": ray.cluster_resources(),
        "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
    })

    task = ray.remote(evaluate).options(num_gpus=args.num_gpus, num_cpus=args.num_cpus, max_retries=0)
    worker_actor = ray.remote(EvaluationWorker).options(
        num_gpus=args.num_gpus, num_cpus=args.num_cpus, max_restarts=0, max_task_retries=0)
    persistent = args.workers == "persistent"
    inbox = queue.Queue()
    threading.Thread(target=read_stdin, args=(inbox,), daemon=True).start()
    in_flight = {}  # ObjectRef -> job id
    by_id = {}
    model_dirs = {}  # job id -> where its model goes on this machine
    actors = []  # the pool (persistent workers)
    idle = []  # actors without a job
    actor_of = {}  # ObjectRef -> the actor running it
    waiting = []  # (job id, job line) for the pool, in order
    closing = False
    starved = False  # whether the cluster lacks a node big enough for one evaluation
    checked = time.monotonic()

    def pool_size():
        # As many actors as the cluster could run at once, as the head counts its slots.
        total = ray.cluster_resources()
        by_gpu = total.get("GPU", 0.0) / args.num_gpus if args.num_gpus > 0 else float("inf")
        return max(1, int(min(by_gpu, total.get("CPU", 0.0) / args.num_cpus)))

    def dispatch():
        while waiting:
            if idle:
                actor = idle.pop()
            elif len(actors) < pool_size():
                actor = worker_actor.remote(args.program, args.recycle_after)
                actors.append(actor)
            else:
                return
            job_id, job_line = waiting.pop(0)
            ref = actor.evaluate.remote(job_line)
            in_flight[ref] = job_id
            by_id[job_id] = ref
            actor_of[ref] = actor

    def drop_actor(actor):
        if actor in actors:
            actors.remove(actor)
        if actor in idle:
            idle.remove(actor)
        ray.kill(actor)

    while not closing or in_flight:
        # Take every message waiting; block only when nothing runs.
        while True:
            try:
                line = inbox.get(block=not in_flight and not closing, timeout=None)
            except queue.Empty:
                break
            if line is None:
                closing = True
                for ref in list(in_flight):
                    if ref in actor_of:
                        drop_actor(actor_of.pop(ref))
                    else:
                        ray.cancel(ref, force=True)
                in_flight.clear()
                waiting.clear()
                for actor in list(actors):
                    drop_actor(actor)
                break
            message = json.loads(line)
            if "submit" in message:
                job = message["submit"]
                # Decisions after each epoch do not travel through Ray: its jobs train to the end.
                job["job"]["decide_each_epoch"] = False
                if job["job"].get("model_dir"):
                    model_dirs[job["id"]] = job["job"]["model_dir"]
                if persistent:
                    waiting.append((job["id"], json.dumps(job["job"])))
                    dispatch()
                else:
                    ref = task.remote(args.program, json.dumps(job["job"]))
                    in_flight[ref] = job["id"]
                    by_id[job["id"]] = ref
            elif "cancel" in message:
                job_id = message["cancel"]
                waiting[:] = [w for w in waiting if w[0] != job_id]
                ref = by_id.pop(job_id, None)
                model_dirs.pop(job_id, None)
                if ref is not None and ref in in_flight:
                    del in_flight[ref]
                    if ref in actor_of:
                        # An actor's running call cannot be cancelled alone: the actor (and its worker) goes.
                        drop_actor(actor_of.pop(ref))
                        dispatch()
                    else:
                        ray.cancel(ref, force=True)
            if inbox.empty():
                break
        if not in_flight:
            continue
        if time.monotonic() - checked > 10:
            # A cluster that lost its GPU nodes queues tasks forever; say so instead of waiting silently.
            checked = time.monotonic()
            total = ray.cluster_resources()
            now_starved = total.get("GPU", 0.0) < args.num_gpus or total.get("CPU", 0.0) < args.num_cpus
            if now_starved != starved:
                starved = now_starved
                emit({"event": "warning", "message": (
                    f"the cluster has {total.get('GPU', 0.0):g} GPU(s) and {total.get('CPU', 0.0):g} CPU(s) left; an "
                    f"evaluation needs {args.num_gpus:g} GPU(s) and {args.num_cpus:g} CPU(s), so {len(in_flight)} "
                    f"evaluation(s) wait until a node joins (`ray start --address=...` on a worker)"
                    if starved else "the cluster can run evaluations again")})
        done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.2)
        for ref in done:
            job_id = in_flight.pop(ref)
            by_id.pop(job_id, None)
            model_dir = model_dirs.pop(job_id, None)
            actor = actor_of.pop(ref, None)
            try:
                result = ray.get(ref)
            except ray.exceptions.TaskCancelledError:
                continue
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.ActorDiedError, ray.exceptions.ActorUnavailableError,
                    ray.exceptions.ObjectLostError, ray.exceptions.OutOfMemoryError) as e:
                if actor is not None:
                    drop_actor(actor)
                    dispatch()
                emit({"event": "lost", "id": job_id, "error": f"{type(e).__name__}: {e}"})
                continue
            except Exception as e:  # noqa: BLE001  (the task itself raised: report, let the head retry)
                if actor is not None:
                    drop_actor(actor)
                    dispatch()
                emit({"event": "lost", "id": job_id, "error": f"the Ray task failed: {type(e).__name__}: {e}"})
                continue
            if actor is not None:
                idle.append(actor)
                dispatch()
            model = result.pop("model", None)
            if model is not None and model_dir is not None:
                try:
                    save_model(model_dir, model)
                except (OSError, KeyError, ValueError) as e:
                    emit({"event": "warning", "message": f"could not save the model of evaluation {job_id} in "
                          f"{model_dir}: {e}"})
            emit({"event": "finished", "id": job_id, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())

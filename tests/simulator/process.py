"""SimulatorProcess: the Kapacitor simulator as a child process, for tests, the benchmark and CI.

Standard library only. Import it as a module (``from process import SimulatorProcess`` with tests/simulator on
sys.path) or by file path (``importlib.util.spec_from_file_location``); it finds ``kapacitor_sim.py`` next to itself.

    with SimulatorProcess('--scenario', path) as sim:
        requests.get(sim.url + '/kapacitor/v1/ping')
        sim.restart()                  # same port, all state lost
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SIMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kapacitor_sim.py')


class SimulatorProcess:
    """One ``kapacitor_sim.py`` process: started with ``--ready-file``/``--pid-file``, stopped with SIGTERM.

    ``flags`` are passed to kapacitor_sim.py as they are (``--scenario FILE``, ``--auth-user ...``, TLS flags);
    ``flavor='influxdb2'`` adds ``--flavor influxdb2`` (an InfluxDB 2 server instead of Kapacitor).
    ``port`` 0 picks a free port at the first start; ``restart()`` reuses the port it got. The process's stdout and
    stderr go to ``log_path`` in ``workdir``: a temporary directory that ``stop()`` removes, unless a ``workdir``
    is given (then it is kept, with the log).
    """

    def __init__(self, *flags, port=0, python=sys.executable, workdir=None, ready_timeout=30.0, flavor='kapacitor'):
        self.flavor = flavor
        self.flags = ([] if flavor == 'kapacitor' else ['--flavor', flavor]) + [str(flag) for flag in flags]
        self.port = port
        self.python = python
        self.ready_timeout = ready_timeout
        self.url = None
        self.proc = None
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix='kapacitor-sim-')
        self.ready_file = os.path.join(self.workdir, 'sim.url')
        self.pid_file = os.path.join(self.workdir, 'sim.pid')
        self.log_path = os.path.join(self.workdir, 'sim.log')

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def start(self):
        """Start the process and wait until it listens; raises RuntimeError (with its output) if it does not."""
        if self.running():
            raise RuntimeError('the simulator is already running (pid %d)' % self.pid)
        os.makedirs(self.workdir, exist_ok=True)
        for path in (self.ready_file, self.pid_file):
            if os.path.exists(path):
                os.unlink(path)
        command = [self.python, SIMULATOR, '--port', str(self.port), '--ready-file', self.ready_file,
                   '--pid-file', self.pid_file] + self.flags
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise RuntimeError('the simulator exited with %s before it was ready:\n%s' % (self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError('the simulator was not ready after %gs:\n%s' % (self.ready_timeout, output))
            time.sleep(0.02)
        with open(self.ready_file, encoding='utf-8') as handle:
            self.url = handle.read().strip()
        self.port = int(self.url.rsplit(':', 1)[1])
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after ``timeout`` seconds; removes a temporary work directory. Returns the exit code."""
        code = self._terminate(timeout)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def restart(self):
        """Stop and start again on the same port: a server that came back with all its state lost."""
        self._terminate()
        return self.start()

    def _terminate(self, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self):
        """What the process printed so far (stdout and stderr)."""
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as handle:
                return handle.read()
        except OSError:
            return ''

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def __repr__(self):
        return 'SimulatorProcess(url=%r, pid=%r)' % (self.url, self.pid)

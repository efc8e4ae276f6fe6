"""Celery tasks as background transactions, named by the task's name
(`shop.tasks.rebuild_index`): the task_prerun and task_postrun signals
begin and end a record in the process that runs the task (a prefork pool's
child included: its agent starts afresh after the fork).  Installed when
the process's monitoring starts and Celery is importable; a task that
fails is counted with its exception's class (task_failure)."""
import threading

from . import naming

_lock = threading.Lock()
_installed = []
_running = {}           # task id -> (agent, record)


def install(agent_of):
    """Connects the signals once; agent_of() gives the agent to record into."""
    try:
        from celery import signals
    except ImportError:
        return False
    with _lock:
        if _installed:
            return True

        def prerun(sender=None, task_id=None, task=None, **kwargs):
            try:
                agent = agent_of()
                if agent is None or not agent.options.enabled:
                    return
                name = getattr(task, "name", None) or naming.dotted_name(sender)
                _running[task_id] = (agent, agent.begin("background", name))
            except Exception:   # measuring must never fail the task
                pass

        def failure(sender=None, task_id=None, exception=None, **kwargs):
            entry = _running.get(task_id)
            if entry is not None and exception is not None:
                entry[1].error = naming.exception_name(exception)

        def postrun(sender=None, task_id=None, **kwargs):
            entry = _running.pop(task_id, None)
            if entry is not None:
                entry[0].end(entry[1])

        # weak=False: the receivers are closures that nothing else holds.
        signals.task_prerun.connect(prerun, weak=False)
        signals.task_failure.connect(failure, weak=False)
        signals.task_postrun.connect(postrun, weak=False)
        _installed.append((prerun, failure, postrun))
        return True

//! One worker thread: take jobs from the inbox into the local run queue, run
//! the first as a future polled on this thread, and at each epoch yield let
//! the local scheduler decide whether to keep running it or switch to an
//! earlier deadline (the preempted future is kept and resumed later).
//!
//! No overdue request holds the worker: one that keeps running past its
//! deadline is ended with [`Outcome::DeadlinePassed`] by the epoch callback
//! at the second tick it runs through past it; and on a preemptible worker
//! one that has run four times its expected time (over at least two ticks) is
//! demoted (its queue key is [`demoted_key`]: later than every request that
//! has not overrun), so any honest request switches in ahead of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::thread::Thread;

use tern_rpc::IdleStrategy;
use tern_sched::clock;
use tern_sched::{Completion, Job, Outcome};

use crate::executor::{block_on, poll_once};
use crate::function::Function;
use crate::invoke::{Payload, invoke};
use crate::run_queue::{LocalQueue, RunQueue};
use crate::run_state::{WorkerShared, demote_at_ns, virtual_start_ns};
use crate::runtime::Runtime;

/// Everything a worker thread owns, moved into it at spawn.
pub(crate) struct WorkerContext {
    pub index: usize,
    pub runtime: Arc<Runtime>,
    pub shared: Arc<WorkerShared>,
    pub local_queue: LocalQueue,
    pub preemptible: bool,
    pub core: Option<usize>,
    pub idle: IdleStrategy,
    pub stop: Arc<AtomicBool>,
    pub completion_waker: Arc<OnceLock<Thread>>,
}

type Invocation<'rt> = Pin<Box<dyn Future<Output = (Outcome, Vec<u8>)> + 'rt>>;

/// A job in the local run queue: not started yet (`future` is `None`, the
/// payload is still in `job`), or suspended at an epoch yield.
struct Task<'rt> {
    job: Job,
    function: Option<&'rt Function>,
    future: Option<Invocation<'rt>>,
    /// Execution time used so far, ns.
    exec_ns: u64,
    /// Whether it has overrun its expected time (preemptible workers only)
    /// and is queued and published behind every request that has not.
    demoted: bool,
}

impl Task<'_> {
    /// Its key in the local EDF queue: its deadline, or [`demoted_key`].
    fn key(&self) -> u64 {
        if self.demoted {
            demoted_key(self.job.deadline_ns)
        } else {
            self.job.deadline_ns
        }
    }
}

/// The local EDF key of a demoted request with deadline `deadline_ns`:
/// above every deadline (the clock stays below 2^63 ns, 292 years), and
/// among demoted requests still by deadline.
#[inline]
pub(crate) fn demoted_key(deadline_ns: u64) -> u64 {
    deadline_ns | (1 << 63)
}

/// The worker thread's body; returns when the pool stops.
pub(crate) fn run_worker(ctx: WorkerContext) {
    let WorkerContext {
        index,
        runtime,
        shared,
        local_queue,
        preemptible,
        core,
        mut idle,
        stop,
        completion_waker,
    } = ctx;
    if let Some(core) = core
        && !core_affinity::set_for_current(core_affinity::CoreId { id: core })
    {
        tracing::warn!(worker = index, core, "cannot pin worker thread to core");
    }
    let rt: &Runtime = &runtime;
    let mut queue: RunQueue<Task<'_>> = RunQueue::new(local_queue);
    let mut idle_marked = false;
    let finish = |task: Task<'_>, outcome: Outcome, output: Vec<u8>| {
        let end = clock::now_ns();
        let total = end.saturating_sub(task.job.arrival_ns);
        shared.state.on_finished(task.job.expected_ns);
        shared.completions.push(Completion {
            id: task.job.id,
            worker: index,
            outcome,
            output,
            queue_ns: total.saturating_sub(task.exec_ns),
            exec_ns: task.exec_ns,
        });
        if let Some(t) = completion_waker.get() {
            t.unpark();
        }
    };

    while !stop.load(Ordering::Acquire) {
        take_inbox(&shared, rt, &mut queue);
        let Some(mut task) = queue.pop() else {
            if !idle_marked {
                idle_marked = shared.state.on_idle_if_empty();
            }
            idle.idle();
            continue;
        };
        idle_marked = false;
        idle.reset();
        let Some(function) = task.function else {
            finish(task, Outcome::Rejected, Vec::new());
            continue;
        };
        // Run slices of this task until it completes or yields to an
        // earlier deadline.
        loop {
            let start = clock::now_ns();
            // Published start is the virtual start (now minus time already
            // run), so start + expected is still the expected finish.
            shared.state.on_running(
                task.job.deadline_ns,
                virtual_start_ns(start, task.exec_ns),
                task.job.expected_ns,
            );
            if task.demoted {
                shared.state.on_demoted();
            }
            let slot = &shared.slot;
            slot.start_slice(start, function.limits.max_exec, task.exec_ns);
            // A suspended request past its deadline resumes too: its store
            // has counted its overdue ticks, and it ends at the next one.
            slot.set_deadline(task.job.deadline_ns);
            if preemptible && !task.demoted {
                slot.set_demote_at(demote_at_ns(start, task.exec_ns, task.job.expected_ns));
            }
            if !preemptible {
                // Not preemptible: the invocation makes synchronous calls and is ready at
                // its first poll, so it runs on this stack, no box.
                let payload = std::mem::take(&mut task.job.payload);
                let slot = shared.slot.clone();
                let (outcome, output) = block_on(invoke(
                    rt.engine(),
                    function,
                    Payload::Owned(payload),
                    slot,
                    false,
                ));
                task.exec_ns += clock::now_ns().saturating_sub(start);
                finish(task, outcome, output);
                break;
            }
            let future = task.future.get_or_insert_with(|| {
                let payload = std::mem::take(&mut task.job.payload);
                Box::pin(invoke(
                    rt.engine(),
                    function,
                    Payload::Owned(payload),
                    shared.slot.clone(),
                    preemptible,
                ))
            });
            let poll = poll_once(future.as_mut());
            task.exec_ns += clock::now_ns().saturating_sub(start);
            match poll {
                Poll::Ready((outcome, output)) => {
                    task.future = None;
                    finish(task, outcome, output);
                    break;
                }
                Poll::Pending => {
                    if shared.slot.take_demotion() {
                        task.demoted = true;
                    }
                    take_inbox(&shared, rt, &mut queue);
                    if stop.load(Ordering::Acquire)
                        || queue.earliest_deadline().is_some_and(|d| d < task.key())
                    {
                        queue.push(task.key(), task);
                        break;
                    }
                }
            }
        }
    }
    // Shutdown: queued and suspended tasks are dropped (wasmtime unwinds a
    // suspended fiber safely when its future is dropped).
    let dropped = queue.len() + shared.inbox.len();
    drop(queue);
    if dropped > 0 {
        tracing::debug!(worker = index, dropped, "worker stopped with jobs pending");
    }
}

/// Moves every job waiting in the inbox to the local run queue. Clears the
/// reschedule flag first, so an arrival after the drain sets it again.
#[inline]
fn take_inbox<'rt>(shared: &WorkerShared, rt: &'rt Runtime, queue: &mut RunQueue<Task<'rt>>) {
    shared.slot.clear_reschedule();
    while let Some(job) = shared.inbox.pop() {
        let function = rt.function(job.function);
        queue.push(
            job.deadline_ns,
            Task {
                job,
                function,
                future: None,
                exec_ns: 0,
                demoted: false,
            },
        );
    }
}

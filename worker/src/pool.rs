//! The [`WorkerPool`]: per-core worker threads and the lock-free queues
//! between them and the dispatcher.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};

use tern_rpc::{IdleMode, IdleStrategy};
use tern_sched::{Completion, Job, WorkerState};

use crate::run_queue::LocalQueue;
use crate::run_state::WorkerShared;
use crate::runtime::Runtime;
use crate::worker_loop::{WorkerContext, run_worker};

/// Settings of a [`WorkerPool`].
#[derive(Clone, Debug)]
pub struct WorkerPoolConfig {
    /// Number of worker threads.
    pub workers: usize,
    /// Cores to pin the workers to (worker `i` on `cores[i % len]`); `None`
    /// leaves placement to the OS.
    pub cores: Option<Vec<usize>>,
    /// Order of each worker's local run queue.
    pub local_queue: LocalQueue,
    /// Whether a running request may be suspended for an earlier deadline.
    /// `true`: each request runs on a wasmtime fiber (`call_async`, a few
    /// hundred ns more per request) and yields at the epoch check after a
    /// [`submit`](WorkerPool::submit) or [`preempt`](WorkerPool::preempt);
    /// with an EDF queue the worker then switches to a queued earlier
    /// deadline (with FIFO nothing is ever earlier, so it only resumes).
    /// `false`: requests run to their end with synchronous calls on the
    /// worker's stack. The dispatcher sets it from its policy.
    pub preemptible: bool,
    /// The most requests each worker holds at once: in its inbox, in its
    /// local run queue (waiting or suspended by preemption) and running.
    /// [`WorkerPool::submit`] refuses a job past it, so no queue of a
    /// worker ever holds more (the dispatcher's `--inbox`).
    pub inbox_capacity: usize,
    /// How each worker waits when it has nothing to run: tern-rpc's
    /// [`IdleStrategy`](tern_rpc::IdleStrategy) in this mode, one per
    /// worker. `Adaptive` (the default) spins ~10 µs, yields, then parks
    /// 50 µs at a time, giving the core away when threads outnumber cores;
    /// `Spin` never gives it away. Either way [`WorkerPool::submit`] unparks
    /// the worker, so a parked worker starts a new job at once.
    pub idle: IdleMode,
}

impl Default for WorkerPoolConfig {
    /// One unpinned worker, FIFO, not preemptible, inbox of 1024,
    /// [`IdleMode::Adaptive`].
    fn default() -> Self {
        WorkerPoolConfig {
            workers: 1,
            cores: None,
            local_queue: LocalQueue::Fifo,
            preemptible: false,
            inbox_capacity: 1024,
            idle: IdleMode::Adaptive,
        }
    }
}

/// Per-core worker threads, each running requests in fresh sandboxes.
///
/// The dispatcher thread calls [`submit`](Self::submit),
/// [`preempt`](Self::preempt) and [`poll_completions`](Self::poll_completions);
/// policies read [`state`](Self::state). Nothing here takes a lock.
pub struct WorkerPool {
    runtime: Arc<Runtime>,
    workers: Vec<Arc<WorkerShared>>,
    threads: Vec<Thread>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    completion_waker: Arc<OnceLock<Thread>>,
    next_poll: AtomicUsize,
    preemptible: bool,
    /// [`WorkerPoolConfig::inbox_capacity`].
    held_capacity: u32,
}

impl WorkerPool {
    /// Starts `config.workers` threads (named `tern-worker-N`), pinned when
    /// `config.cores` says so.
    pub fn start(runtime: Arc<Runtime>, config: WorkerPoolConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.workers > 0,
            "a worker pool needs at least one worker"
        );
        anyhow::ensure!(config.inbox_capacity > 0, "inbox_capacity must be positive");
        if let Some(cores) = &config.cores {
            anyhow::ensure!(
                !cores.is_empty(),
                "cores, when given, must name at least one core"
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let completion_waker = Arc::new(OnceLock::new());
        let mut pool = WorkerPool {
            runtime: runtime.clone(),
            workers: Vec::with_capacity(config.workers),
            threads: Vec::with_capacity(config.workers),
            handles: Vec::with_capacity(config.workers),
            stop: stop.clone(),
            completion_waker: completion_waker.clone(),
            next_poll: AtomicUsize::new(0),
            preemptible: config.preemptible,
            held_capacity: u32::try_from(config.inbox_capacity).unwrap_or(u32::MAX),
        };
        for index in 0..config.workers {
            let shared = Arc::new(WorkerShared::new(
                config.inbox_capacity,
                runtime.tick_count().clone(),
            ));
            let ctx = WorkerContext {
                index,
                runtime: runtime.clone(),
                shared: shared.clone(),
                local_queue: config.local_queue,
                preemptible: config.preemptible,
                core: config.cores.as_ref().map(|c| c[index % c.len()]),
                idle: IdleStrategy::new(config.idle),
                stop: stop.clone(),
                completion_waker: completion_waker.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("tern-worker-{index}"))
                .spawn(move || run_worker(ctx))
                .map_err(|e| anyhow::anyhow!("cannot spawn worker thread {index}: {e}"))?;
            pool.workers.push(shared);
            pool.threads.push(handle.thread().clone());
            pool.handles.push(handle);
        }
        Ok(pool)
    }

    /// Number of workers.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Always false: a pool has at least one worker.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// The runtime the workers run functions from.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The most requests one worker holds ([`WorkerPoolConfig::inbox_capacity`]).
    pub fn held_capacity(&self) -> usize {
        self.held_capacity as usize
    }

    /// Whether the workers suspend a running request for an earlier
    /// deadline ([`WorkerPoolConfig::preemptible`]).
    pub fn preemptible(&self) -> bool {
        self.preemptible
    }

    /// What worker `worker` publishes for policies. Panics if `worker >= len()`.
    #[inline]
    pub fn state(&self, worker: usize) -> &WorkerState {
        &self.workers[worker].state
    }

    /// Hands `job` to `worker`: counts it in the worker's state
    /// ([`WorkerState::on_assigned`]), pushes it to the worker's bounded
    /// inbox, flags the worker's scheduler and unparks the thread (a futex
    /// wake only if it was parked). Returns the job if the worker already
    /// holds [`inbox_capacity`](WorkerPoolConfig::inbox_capacity) requests
    /// (inbox, local queue and running together) or `worker` does not
    /// exist, with the accounting undone. Lock-free; call from one thread
    /// (the dispatcher): only that thread adds to a worker's count, so the
    /// check cannot race past the bound.
    #[inline]
    pub fn submit(&self, worker: usize, job: Job) -> Result<(), Job> {
        let Some(w) = self.workers.get(worker) else {
            return Err(job);
        };
        if w.state.queue_len() >= self.held_capacity {
            return Err(job);
        }
        let expected = job.expected_ns;
        w.state.on_assigned(expected);
        match w.inbox.push(job) {
            Ok(()) => {
                w.slot.request_reschedule();
                self.threads[worker].unpark();
                Ok(())
            }
            Err(job) => {
                w.state.on_assign_undone(expected);
                Err(job)
            }
        }
    }

    /// Makes `worker` run its local scheduler at once rather than at the
    /// next epoch tick: on a preemptible worker, the running request yields
    /// at its next check and the worker switches to an earlier deadline if
    /// one is queued. Bumps the engine epoch, so every running request on
    /// every worker takes its epoch callback once (a few hundred ns each).
    pub fn preempt(&self, worker: usize) {
        if let Some(w) = self.workers.get(worker) {
            w.slot.request_reschedule();
            self.runtime.bump_epoch();
            self.threads[worker].unpark();
        }
    }

    /// Moves every completion waiting in the workers' queues into `out`
    /// (without blocking) and returns how many. Workers are drained in
    /// rotating order so none is favoured.
    pub fn poll_completions(&self, out: &mut Vec<Completion>) -> usize {
        let n = self.workers.len();
        let first = self.next_poll.load(Ordering::Relaxed) % n;
        self.next_poll.store(first + 1, Ordering::Relaxed);
        let before = out.len();
        for k in 0..n {
            let w = &self.workers[(first + k) % n];
            while let Some(c) = w.completions.pop() {
                out.push(c);
            }
        }
        out.len() - before
    }

    /// Has the workers unpark `t` after each completion they push, so that an
    /// adaptive dispatcher may park while waiting. Only the first call takes
    /// effect.
    pub fn set_completion_waker(&self, t: Thread) {
        let _ = self.completion_waker.set(t);
    }

    /// Stops the workers and waits for them. Jobs still queued or suspended
    /// are dropped without a completion; a request running on a preemptible
    /// worker is stopped at its next epoch check, one on another runs to its
    /// end (or its time limit). Also done when the pool is dropped.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Preemptible requests yield at their next check and are dropped;
        // parked workers wake up and see the flag.
        for (w, t) in self.workers.iter().zip(&self.threads) {
            w.slot.request_reschedule();
            t.unpark();
        }
        self.runtime.bump_epoch();
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                tracing::error!("a worker thread panicked");
            }
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

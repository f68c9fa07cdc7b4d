//! [`FnService`]: a [`Service`] made of async closures, built on a
//! [`Worker`] with [`Worker::handlers`] (Workerman's
//! `$worker->onMessage = function ($connection, $data) {...}`).
//!
//! ```no_run
//! use workerman_core::Worker;
//! use workerman_protocols::Text;
//!
//! fn main() -> Result<(), workerman_core::Error> {
//!     Worker::handlers::<Text>("text://127.0.0.1:5678")
//!         .on_message(|conn, msg| async move {
//!             let _ = conn.send(msg);
//!         })
//!         .run()
//! }
//! ```
//!
//! The design notes are on [`FnService`].

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::FutureExt;
use workerman_protocols::{Protocol, Tcp};

use crate::{Connection, ConnectionError, Service, Worker, WorkerContext};

/// One stored callback: its arguments as one value, its future boxed.
type Callback<A> = Arc<dyn Fn(A) -> BoxFuture<'static, ()> + Send + Sync>;

/// Makes the stored callbacks ([`Callbacks`]: a field each, `Clone`,
/// `new`, the names for `Debug`) and the [`Service`] methods that call
/// them from one entry per callback: the `Service` method's lifetimes and
/// arguments, the stored closure's argument type, and how that argument
/// is made from the method's.
///
/// The entries, and the public `on_*` setters, are written at the end of
/// this file by `tests/closure_setters.rs` from its list of callbacks (the
/// one list; see that file for why the setters are generated source rather
/// than a macro's output).
///
/// `Service` is an `#[async_trait]` trait: its methods return a boxed
/// future. The generated impl writes that signature out instead of using
/// the macro, so that the closure's own boxed future is returned as it is;
/// `#[async_trait]` would box a second future around it on every call.
macro_rules! callbacks {
    ($(
        $name:ident<$($lt:lifetime),+>($($arg:ident: $arg_ty:ty),+)
            -> $stored:ty { $make:expr },
    )*) => {
        /// The callbacks set so far; `None` is a no-op.
        struct Callbacks<P: Protocol> {
            $($name: Option<Callback<$stored>>,)*
        }

        impl<P: Protocol> Clone for Callbacks<P> {
            fn clone(&self) -> Self {
                Callbacks {
                    $($name: self.$name.clone(),)*
                }
            }
        }

        impl<P: Protocol> Callbacks<P> {
            fn new() -> Self {
                Callbacks {
                    $($name: None,)*
                }
            }

            /// The names of the callbacks that are set, for `Debug`.
            fn set_names(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $(
                    if self.$name.is_some() {
                        names.push(stringify!($name));
                    }
                )*
                names
            }
        }

        impl<P: Protocol, St: Send + Sync + 'static> Service for FnService<P, St> {
            type Protocol = P;

            $(
                fn $name<'a, $($lt,)+ 'f>(&'a self, $($arg: $arg_ty),+) -> BoxFuture<'f, ()>
                where
                    'a: 'f,
                    $($lt: 'f,)+
                    Self: 'f,
                {
                    invoke(&self.callbacks.$name, || $make)
                }
            )*
        }
    };
}

/// A [`Service`] made of async closures, one per callback; build it on a
/// worker with [`Worker::handlers`] and the `on_*` methods of
/// `Worker<FnService<P, St>>`.
///
/// `P` is the protocol; `St` is `()` until [`Worker::with_state`] makes it
/// [`State<T>`], after which every closure takes the state as its first
/// argument.
///
/// Unset callbacks do nothing. Without `on_message`, packages are still
/// read and decoded (and counted), then dropped: the connection stays open.
///
/// Cloning is cheap: the closures are shared.
///
/// There is one runtime path: `FnService` implements [`Service`], and the
/// worker runs it exactly as it runs a hand-written service (same callback
/// order, same panic handling, same scheme check, since
/// `FnService<P>::Protocol` is `P`).
///
/// # Design
///
/// * **`Worker::handlers::<P>(address)`, not `Worker::new(address)`.**
///   `Worker::new(address, service)` is the trait form's constructor and
///   Rust has no overloading; the protocol has to be named because the
///   closures' argument types are inferred from it.
/// * **Handles by value.** Callbacks receive [`Connection`] and
///   [`WorkerContext`] by value (both are cheap clones of an `Arc`), so the
///   future a closure returns owns what it uses and is `'static`. With
///   `Fn(&Connection<P>) -> Fut`, `Fut` cannot borrow the argument (its type
///   would depend on the borrow's lifetime); async closures (`AsyncFn`) can,
///   but stable Rust cannot yet require their futures to be `Send`.
/// * **State.** Either capture an `Arc` by clone in each closure, or give
///   the worker one state value with [`Worker::with_state`]: every callback
///   then receives a clone of it first, as [`State`], as axum's `State`
///   extractor does (`|State(chat), conn, msg| ...`). The wrapper type also
///   keeps the two sets of `on_*` methods apart (on `FnService<P, ()>`
///   without the state, on `FnService<P, State<T>>` with it), so that each
///   takes plain `Fn` closures whose argument types the compiler infers.
/// * **Errors by value.** `on_error` receives the [`ConnectionError`] by
///   value (it is a cheap clone), with everything the trait form sees: the
///   variant, [`code`](ConnectionError::code) and
///   [`protocol_error`](ConnectionError::protocol_error).
/// * **Cost.** Each call boxes the closure's future once, as
///   `#[async_trait]` boxes a trait callback's future once (this impl
///   writes the boxed signature out, so there is no second box). On top,
///   a call goes through the boxed closure, clones the connection handle
///   (two atomic reference-count updates) and sets up a panic guard:
///   about 40 instructions. A handler that sends a reply cannot tell
///   (server CPU per message 0.99-1.03x the trait form's); a handler that
///   only consumes messages pays 5 % more instructions, 7-16 % more CPU
///   (`benches/closures.rs` measures both).
///
/// # Examples
///
/// ```
/// use workerman_core::{FnService, Worker};
/// use workerman_protocols::Text;
///
/// let worker: Worker<FnService<Text>> = Worker::handlers::<Text>("text://127.0.0.1:5678")
///     .on_message(|conn, msg| async move {
///         let _ = conn.send(msg);
///     });
/// # let _ = worker;
/// ```
pub struct FnService<P: Protocol, St = ()> {
    state: St,
    callbacks: Callbacks<P>,
}

impl<P: Protocol, St: Clone> Clone for FnService<P, St> {
    fn clone(&self) -> Self {
        FnService {
            state: self.state.clone(),
            callbacks: self.callbacks.clone(),
        }
    }
}

impl<P: Protocol, St> fmt::Debug for FnService<P, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnService")
            .field("protocol", &P::SCHEME)
            .field("state", &std::any::type_name::<St>())
            .field("callbacks", &self.callbacks.set_names())
            .finish()
    }
}

/// The state of a closure worker, handed to each of its callbacks as the
/// first argument once [`Worker::with_state`] has set it (as axum's
/// `State`): destructure it in the closure's arguments,
/// `|State(chat), conn, msg| ...`, or use it through `Deref`.
///
/// Each call gets its own clone, so keep the state cheap to clone (an
/// `Arc`, or a struct of `Arc`s) and put what changes behind a `Mutex` or
/// atomics: callbacks of different connections (and, with `count > 1`,
/// different threads) run concurrently.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use workerman_core::{State, Worker};
/// use workerman_protocols::Text;
///
/// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
///     .with_state(Arc::new(AtomicU64::new(0)))
///     .on_message(|State(lines), _conn, _msg| async move {
///         lines.fetch_add(1, Ordering::Relaxed);
///     });
/// # let _ = worker;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct State<T>(pub T);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for State<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// The future of an unset callback: done at once, and a zero-sized type,
/// so boxing it allocates nothing.
struct Noop;

impl Future for Noop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

/// Calls `cb`, if set, with the arguments `args` makes.
///
/// The call itself runs user code (a closure's body up to its `async`
/// block) outside the future that the driver polls under its panic guard,
/// so a panic in it is caught here and raised again when the returned
/// future is polled: it then closes the connection (or is logged for a
/// worker callback) exactly like a panic inside the `async` block.
fn invoke<A>(cb: &Option<Callback<A>>, args: impl FnOnce() -> A) -> BoxFuture<'static, ()> {
    let Some(cb) = cb else {
        return Box::pin(Noop);
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| cb(args()))) {
        Ok(fut) => fut,
        Err(panic) => Box::pin(async move { std::panic::resume_unwind(panic) }),
    }
}

/// Boxes a callback's future.
fn boxed<Fut: Future<Output = ()> + Send + 'static>(fut: Fut) -> BoxFuture<'static, ()> {
    fut.boxed()
}

/// The closure-style constructor.
///
/// It lives on `Worker<FnService<Tcp>>` only so that `Worker::handlers`
/// resolves without naming a service type (as `HashMap::new` lives on the
/// default hasher's map); the protocol given as `P` alone decides the
/// worker it returns.
impl Worker<FnService<Tcp>> {
    /// A worker on `address` whose callbacks are async closures, set with
    /// the `on_*` methods; `P` is the protocol, whose scheme the address
    /// must use (`text://` for [`Text`](workerman_protocols::Text)), as for
    /// [`Worker::new`]. Without any callback set, the worker accepts
    /// connections and ignores what they send.
    ///
    /// The trait form's constructor is `Worker::new(address, service)`;
    /// this one takes no service, so it has its own name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// fn main() -> Result<(), workerman_core::Error> {
    ///     Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///         .on_message(|conn, msg| async move {
    ///             let _ = conn.send(msg);
    ///         })
    ///         .count(4)
    ///         .run()
    /// }
    /// ```
    pub fn handlers<P: Protocol>(address: impl Into<String>) -> Worker<FnService<P>> {
        Worker::new(
            address,
            FnService {
                state: (),
                callbacks: Callbacks::new(),
            },
        )
    }
}

impl<P: Protocol, St: Clone + Send + Sync + 'static> Worker<FnService<P, St>> {
    /// Changes the worker's service in place (copying it first if it is
    /// shared, which only [`Worker::with_shared`] can make it).
    fn with_service(mut self, change: impl FnOnce(&mut FnService<P, St>)) -> Self {
        change(Arc::make_mut(&mut self.service));
        self
    }
}

/// The state of a closure worker.
impl<P: Protocol> Worker<FnService<P>> {
    /// Gives every callback set from now on a clone of `state` as its first
    /// argument, wrapped in [`State`]. Callbacks set before keep their
    /// arguments (and do not see the state).
    ///
    /// The state must be `Clone + Send + Sync + 'static`: it is cloned for
    /// every call, and the worker's threads share it.
    /// Share mutable state through an `Arc<Mutex<_>>` or atomics.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// #[derive(Clone, Default)]
    /// struct Stats {
    ///     lines: Arc<AtomicU64>,
    /// }
    ///
    /// fn main() -> Result<(), workerman_core::Error> {
    ///     Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///         .with_state(Stats::default())
    ///         .on_message(|State(stats), conn, _msg| async move {
    ///             let n = stats.lines.fetch_add(1, Ordering::Relaxed) + 1;
    ///             let _ = conn.send(format!("{n} lines so far"));
    ///         })
    ///         .run()
    /// }
    /// ```
    pub fn with_state<T: Clone + Send + Sync + 'static>(
        self,
        state: T,
    ) -> Worker<FnService<P, State<T>>> {
        let callbacks = match Arc::try_unwrap(self.service) {
            Ok(service) => service.callbacks,
            Err(shared) => shared.callbacks.clone(),
        };
        Worker {
            config: self.config,
            service: Arc::new(FnService {
                state: State(state),
                callbacks,
            }),
        }
    }

    /// Stores `f` as a callback, its futures boxed (the setters' one
    /// body).
    fn set_stateless<A: 'static, Fut: Future<Output = ()> + Send + 'static>(
        self,
        slot: fn(&mut Callbacks<P>) -> &mut Option<Callback<A>>,
        f: impl Fn(A) -> Fut + Send + Sync + 'static,
    ) -> Self {
        self.with_service(|s| *slot(&mut s.callbacks) = Some(Arc::new(move |a| boxed(f(a)))))
    }
}

impl<P: Protocol, T: Clone + Send + Sync + 'static> Worker<FnService<P, State<T>>> {
    /// Stores `f` so that each call gets a clone of the state first, its
    /// futures boxed.
    fn set_stateful<A: 'static, Fut: Future<Output = ()> + Send + 'static>(
        self,
        slot: fn(&mut Callbacks<P>) -> &mut Option<Callback<A>>,
        f: impl Fn(State<T>, A) -> Fut + Send + Sync + 'static,
    ) -> Self {
        self.with_service(|s| {
            let state = s.state.clone();
            *slot(&mut s.callbacks) = Some(Arc::new(move |args| boxed(f(state.clone(), args))));
        })
    }
}

// @generated begin
// Written by `tests/closure_setters.rs` from its list of callbacks: edit
// the list there, not this, and run
// `UPDATE_GENERATED=1 cargo test -p workerman-core --test closure_setters`.

// Each callback: the `Service` method's arguments, then the closure's.
callbacks! {
    on_worker_start<'b>(worker: &'b WorkerContext<P>) -> WorkerContext<P> { worker.clone() },
    on_worker_reload<'b>(worker: &'b WorkerContext<P>) -> WorkerContext<P> { worker.clone() },
    on_worker_stop<'b>(worker: &'b WorkerContext<P>) -> WorkerContext<P> { worker.clone() },
    on_connect<'b>(conn: &'b Connection<P>) -> Connection<P> { conn.clone() },
    on_message<'b>(conn: &'b Connection<P>, msg: P::Inbound)
        -> (Connection<P>, P::Inbound) { (conn.clone(), msg) },
    on_close<'b>(conn: &'b Connection<P>) -> Connection<P> { conn.clone() },
    on_buffer_full<'b>(conn: &'b Connection<P>) -> Connection<P> { conn.clone() },
    on_buffer_drain<'b>(conn: &'b Connection<P>) -> Connection<P> { conn.clone() },
    on_error<'b, 'c>(conn: &'b Connection<P>, err: &'c ConnectionError)
        -> (Connection<P>, ConnectionError) { (conn.clone(), err.clone()) },
}

/// The callbacks of a closure worker without state: each closure takes the
/// arguments of the matching [`Service`] callback, by value, and returns a
/// future (`|conn, msg| async move { ... }`).
impl<P: Protocol> Worker<FnService<P>> {
    /// Sets `on_worker_start`: once in every worker instance, before it
    /// accepts connections; see [`Service::on_worker_start`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_worker_start(|worker| async move {
    ///         tracing::info!(id = worker.id(), name = worker.name(), "started");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_start<F, Fut>(self, f: F) -> Self
    where
        F: Fn(WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_worker_start, f)
    }

    /// Sets `on_worker_reload`: when a non-reloadable instance is told to
    /// reload; see [`Service::on_worker_reload`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_worker_reload(|worker| async move {
    ///         tracing::info!(id = worker.id(), "reload requested; staying up");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_reload<F, Fut>(self, f: F) -> Self
    where
        F: Fn(WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_worker_reload, f)
    }

    /// Sets `on_worker_stop`: once in every worker instance when it stops;
    /// see [`Service::on_worker_stop`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_worker_stop(|worker| async move {
    ///         worker.broadcast("server going down");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_stop<F, Fut>(self, f: F) -> Self
    where
        F: Fn(WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_worker_stop, f)
    }

    /// Sets `on_connect`: after a connection is accepted, before any
    /// message; see [`Service::on_connect`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_connect(|conn| async move {
    ///         let _ = conn.send(format!("welcome, you are #{}", conn.id()));
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_connect<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_connect, f)
    }

    /// Sets `on_message`: once per decoded package, in wire order, with the
    /// protocol's message type (`P::Inbound`: `Payload` for `Text`); see
    /// [`Service::on_message`]. Unset, packages are dropped.
    ///
    /// The argument types come from the protocol: leave them unannotated.
    /// If you annotate one, annotate both; with only `msg: String` on a
    /// `Text` worker, rustc reports `conn` as "type annotations needed"
    /// rather than the mismatch.
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_message(|conn, msg| async move {
    ///         match msg.as_str() {
    ///             Ok("quit") => conn.close(Some("bye".into())),
    ///             _ => {
    ///                 let _ = conn.send(msg);
    ///             }
    ///         }
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_message<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>, P::Inbound) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_message, move |(c, m)| f(c, m))
    }

    /// Sets `on_close`: exactly once per connection, when it closes for any
    /// reason; see [`Service::on_close`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_close(|conn| async move {
    ///         tracing::info!(id = conn.id(), "closed");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_close<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_close, f)
    }

    /// Sets `on_buffer_full`: when the connection's send buffer reaches its
    /// limit; see [`Service::on_buffer_full`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Tcp;
    ///
    /// let worker = Worker::handlers::<Tcp>("tcp://127.0.0.1:2347")
    ///     .on_buffer_full(|conn| async move {
    ///         // Stop reading from a peer we cannot keep up with.
    ///         conn.pause_recv();
    ///     })
    ///     .on_buffer_drain(|conn| async move {
    ///         conn.resume_recv();
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_buffer_full<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_buffer_full, f)
    }

    /// Sets `on_buffer_drain`: when data that had to wait has all been
    /// written; see [`Service::on_buffer_drain`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::Worker;
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_buffer_drain(|conn| async move {
    ///         tracing::debug!(id = conn.id(), "send buffer drained");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_buffer_drain<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_buffer_drain, f)
    }

    /// Sets `on_error`: when something went wrong on the connection; the
    /// [`ConnectionError`] comes by value. See [`Service::on_error`].
    ///
    /// # Examples
    ///
    /// ```
    /// use workerman_core::{ConnectionError, Worker};
    /// use workerman_protocols::{Text, TextCodecError};
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .on_error(|conn, err| async move {
    ///         if let Some(e) = err.protocol_error::<TextCodecError>() {
    ///             tracing::warn!(id = conn.id(), error = %e, "bad line");
    ///         } else if matches!(err, ConnectionError::SendBufferFull) {
    ///             tracing::warn!(id = conn.id(), "reply dropped: client too slow");
    ///         }
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_error<F, Fut>(self, f: F) -> Self
    where
        F: Fn(Connection<P>, ConnectionError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateless(|cb| &mut cb.on_error, move |(c, e)| f(c, e))
    }
}

/// The callbacks of a closure worker with state (after
/// [`Worker::with_state`]): each closure takes the [`State`] first, then
/// the arguments of the stateless form
/// (`|State(st), conn, msg| async move { ... }`).
impl<P: Protocol, T: Clone + Send + Sync + 'static> Worker<FnService<P, State<T>>> {
    /// Sets `on_worker_start`, with the state; see
    /// [`on_worker_start`](Worker::on_worker_start) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(String::from("motd")))
    ///     .on_worker_start(|State(motd), worker| async move {
    ///         tracing::info!(id = worker.id(), %motd, "started");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_start<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_worker_start, f)
    }

    /// Sets `on_worker_reload`, with the state; see
    /// [`on_worker_reload`](Worker::on_worker_reload) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(AtomicU32::new(0)))
    ///     .on_worker_reload(|State(reloads), _worker| async move {
    ///         reloads.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_reload<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_worker_reload, f)
    }

    /// Sets `on_worker_stop`, with the state; see
    /// [`on_worker_stop`](Worker::on_worker_stop) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(String::from("bye")))
    ///     .on_worker_stop(|State(farewell), worker| async move {
    ///         worker.broadcast(farewell.as_str());
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_worker_stop<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, WorkerContext<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_worker_stop, f)
    }

    /// Sets `on_connect`, with the state; see
    /// [`on_connect`](Worker::on_connect) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(AtomicU64::new(0)))
    ///     .on_connect(|State(visitors), conn| async move {
    ///         let n = visitors.fetch_add(1, Ordering::Relaxed) + 1;
    ///         let _ = conn.send(format!("visitor #{n}"));
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_connect<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_connect, f)
    }

    /// Sets `on_message`, with the state; see
    /// [`on_message`](Worker::on_message) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, Mutex};
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// // Remembers the last line of each connection.
    /// type Last = Arc<Mutex<HashMap<u64, String>>>;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Last::default())
    ///     .on_message(|State(last), conn, msg| async move {
    ///         let line = msg.to_string_lossy().into_owned();
    ///         let previous = last.lock().unwrap().insert(conn.id(), line);
    ///         let _ = conn.send(previous.unwrap_or_default());
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_message<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>, P::Inbound) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_message, move |st, (c, m)| f(st, c, m))
    }

    /// Sets `on_close`, with the state; see [`on_close`](Worker::on_close)
    /// without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::{Arc, Mutex};
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(Mutex::new(HashSet::<u64>::new())))
    ///     .on_connect(|State(online), conn| async move {
    ///         online.lock().unwrap().insert(conn.id());
    ///     })
    ///     .on_close(|State(online), conn| async move {
    ///         online.lock().unwrap().remove(&conn.id());
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_close<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_close, f)
    }

    /// Sets `on_buffer_full`, with the state; see
    /// [`on_buffer_full`](Worker::on_buffer_full) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(AtomicU64::new(0)))
    ///     .on_buffer_full(|State(slow_clients), conn| async move {
    ///         slow_clients.fetch_add(1, Ordering::Relaxed);
    ///         conn.pause_recv();
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_buffer_full<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_buffer_full, f)
    }

    /// Sets `on_buffer_drain`, with the state; see
    /// [`on_buffer_drain`](Worker::on_buffer_drain) without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(AtomicU64::new(0)))
    ///     .on_buffer_drain(|State(drains), conn| async move {
    ///         drains.fetch_add(1, Ordering::Relaxed);
    ///         conn.resume_recv();
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_buffer_drain<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_buffer_drain, f)
    }

    /// Sets `on_error`, with the state; see [`on_error`](Worker::on_error)
    /// without state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use workerman_core::{State, Worker};
    /// use workerman_protocols::Text;
    ///
    /// let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    ///     .with_state(Arc::new(AtomicU64::new(0)))
    ///     .on_error(|State(errors), conn, err| async move {
    ///         errors.fetch_add(1, Ordering::Relaxed);
    ///         tracing::warn!(id = conn.id(), code = err.code(), %err, "connection error");
    ///     });
    /// # let _ = worker;
    /// ```
    pub fn on_error<F, Fut>(self, f: F) -> Self
    where
        F: Fn(State<T>, Connection<P>, ConnectionError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_stateful(|cb| &mut cb.on_error, move |st, (c, e)| f(st, c, e))
    }
}
// @generated end

//! A signal whose value type the reactive graph never sees.
//!
//! Leptos compiles its signal plumbing (storage, subscribers, guards) once
//! per value type: a few hundred bytes of wasm each time. [`BoxedSignal`]
//! keeps any value in an `RwSignal` of a boxed `Any`, one type for all of
//! them, and hands it back with its own type. For data signals (answers,
//! lists) read with `with`/`get`; not for what a view binds to directly.
//! [`BoxedValue`] does the same for `StoredValue`, [`BoxedCallback`] for
//! `Callback` (a stored function, so one stored type per argument type).

use leptos::prelude::*;
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

type Boxed = Box<dyn Any + Send + Sync>;

pub struct BoxedSignal<T> {
    signal: RwSignal<Boxed>,
    types: PhantomData<fn() -> T>,
}

impl<T> Clone for BoxedSignal<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for BoxedSignal<T> {}

impl<T: Default + Send + Sync + 'static> Default for BoxedSignal<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Send + Sync + 'static> BoxedSignal<T> {
    pub fn new(value: T) -> Self {
        BoxedSignal {
            signal: RwSignal::new(Box::new(value)),
            types: PhantomData,
        }
    }

    // Only `new` and `set` put a value in, always a `T`.
    fn typed(value: &Boxed) -> &T {
        value
            .downcast_ref()
            .expect("a BoxedSignal holds its own type")
    }

    fn typed_mut(value: &mut Boxed) -> &mut T {
        value
            .downcast_mut()
            .expect("a BoxedSignal holds its own type")
    }

    /// Reads the value (tracked).
    pub fn with<O>(&self, f: impl FnOnce(&T) -> O) -> O {
        self.signal.with(|v| f(Self::typed(v)))
    }

    /// Reads the value without tracking it.
    pub fn with_untracked<O>(&self, f: impl FnOnce(&T) -> O) -> O {
        self.signal.with_untracked(|v| f(Self::typed(v)))
    }

    /// A copy of the value (tracked).
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// A copy of the value, untracked.
    pub fn get_untracked(&self) -> T
    where
        T: Clone,
    {
        self.with_untracked(T::clone)
    }

    /// Changes the value and notifies its readers.
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        self.signal.update(|v| f(Self::typed_mut(v)));
    }

    /// As [`Self::update`]; `None` once the signal is gone.
    pub fn try_update<O>(&self, f: impl FnOnce(&mut T) -> O) -> Option<O> {
        self.signal.try_update(|v| f(Self::typed_mut(v)))
    }

    pub fn set(&self, value: T) {
        self.signal.set(Box::new(value));
    }

    /// As [`Self::set`]; gives the value back once the signal is gone
    /// (a late answer after its view closed).
    pub fn try_set(&self, value: T) -> Option<T> {
        self.signal
            .try_set(Box::new(value))
            .map(|v| *v.downcast().expect("a BoxedSignal holds its own type"))
    }
}

/// For props that take a `Signal` (a view's error, read by its fields).
impl<T: Clone + Send + Sync + 'static> From<BoxedSignal<T>> for Signal<T> {
    fn from(boxed: BoxedSignal<T>) -> Self {
        Signal::derive(move || boxed.get())
    }
}

/// A `StoredValue` whose value type the arena never sees (see the module
/// note): same methods, one `StoredValue` type for all of them.
pub struct BoxedValue<T> {
    value: StoredValue<Boxed>,
    types: PhantomData<fn() -> T>,
}

impl<T> Clone for BoxedValue<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for BoxedValue<T> {}

impl<T: Send + Sync + 'static> BoxedValue<T> {
    pub fn new(value: T) -> Self {
        BoxedValue {
            value: StoredValue::new(Box::new(value)),
            types: PhantomData,
        }
    }

    pub fn with_value<O>(&self, f: impl FnOnce(&T) -> O) -> O {
        self.value.with_value(|v| f(BoxedSignal::<T>::typed(v)))
    }

    pub fn get_value(&self) -> T
    where
        T: Clone,
    {
        self.with_value(T::clone)
    }

    pub fn set_value(&self, value: T) {
        self.value.set_value(Box::new(value));
    }

    /// Changes the value; `None` once it is gone.
    pub fn try_update_value<O>(&self, f: impl FnOnce(&mut T) -> O) -> Option<O> {
        self.value
            .try_update_value(|v| f(BoxedSignal::<T>::typed_mut(v)))
    }
}

/// A `Callback` kept in a [`BoxedValue`]: same `new` and `run`.
pub struct BoxedCallback<T: 'static, O: 'static = ()> {
    function: BoxedValue<Arc<dyn Fn(T) -> O + Send + Sync>>,
}

impl<T, O> Clone for BoxedCallback<T, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, O> Copy for BoxedCallback<T, O> {}

impl<T: 'static, O: 'static> BoxedCallback<T, O> {
    pub fn new(function: impl Fn(T) -> O + Send + Sync + 'static) -> Self {
        BoxedCallback {
            function: BoxedValue::new(Arc::new(function)),
        }
    }

    /// Calls the function (a clone of it, so it may call itself again).
    pub fn run(&self, argument: T) -> O {
        self.function.get_value()(argument)
    }
}

/// `collect_view` for lists of views, with one item type for all of them.
///
/// Leptos compiles a list's diffing (`Vec<T>`'s rebuild) once per item
/// type, and with erased components each element kind is its own type: a
/// list of `<li>`, one of `<td>`, one of `<option>` each carried ~0.8 KB of
/// the same wasm. As `AnyView` items they share one copy.
pub trait CollectAny {
    fn collect_any(self) -> Vec<AnyView>;
}

impl<I> CollectAny for I
where
    I: Iterator,
    I::Item: IntoAny,
{
    fn collect_any(self) -> Vec<AnyView> {
        self.map(IntoAny::into_any).collect()
    }
}

/// `bool::then` and `Option::map` for an optional view, as `Option<AnyView>`.
///
/// An `Option` of each element kind is its own type too (its build and
/// rebuild compiled once per kind, and once more per reactive closure
/// returning it); as `Option<AnyView>` they share one. Still an `Option`,
/// so a view that comes and goes keeps its place in the page.
pub trait ThenAny {
    fn then_any<V: IntoAny>(self, view: impl FnOnce() -> V) -> Option<AnyView>;
}

impl ThenAny for bool {
    fn then_any<V: IntoAny>(self, view: impl FnOnce() -> V) -> Option<AnyView> {
        self.then(|| view().into_any())
    }
}

pub trait MapAny<T> {
    fn map_any<V: IntoAny>(self, view: impl FnOnce(T) -> V) -> Option<AnyView>;
}

impl<T> MapAny<T> for Option<T> {
    fn map_any<V: IntoAny>(self, view: impl FnOnce(T) -> V) -> Option<AnyView> {
        self.map(|value| view(value).into_any())
    }
}

/// `Effect::new` with its function boxed: the effect's machinery (about
/// 1.4 KB of wasm) is compiled once, not once per closure.
pub fn effect(function: impl Fn() + 'static) {
    let boxed: Box<dyn Fn()> = Box::new(function);
    Effect::new(boxed);
}

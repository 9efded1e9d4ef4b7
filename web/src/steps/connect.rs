//! Step 5, for every cloud: the cloud's summary of what will be saved, then
//! save (through the step-up prompt) and the stored, masked connection.

use super::{CloudSlot, StepHeading, StepNav, StepRun, WizardState, run_step};
use crate::auth::Auth;
use crate::integrations::IntegrationCard;
use crate::model::Step;
use crate::signal::{BoxedCallback, ThenAny};
use crate::ui::ErrorBanner;
use leptos::prelude::*;

#[component]
pub fn ConnectStep(
    auth: Auth,
    state: WizardState,
    slot: CloudSlot,
    on_done: BoxedCallback<()>,
) -> impl IntoView {
    let run = StepRun::new();
    let org = state.org();
    let runner = slot.clone();
    let save = BoxedCallback::new(move |()| {
        run_step(auth, org.clone(), runner.clone(), Step::Connect, run)
    });
    let spec = slot.wizard.spec(Step::Connect);
    let error = Signal::from(run.error);
    let summary = slot.wizard.form(Step::Connect, error, save);
    let connected = slot.connected;
    view! {
        <section data-step="connect" aria-labelledby="step-connect-title" aria-busy=move || run.busy().to_string()>
            <StepHeading step=Step::Connect intro=spec.intro/>
            <dl class="values summary">
                <div class="value-row"><dt>"Organisation"</dt><dd><code>{state.org().as_str().to_owned()}</code></dd></div>
                {summary}
            </dl>
            <ErrorBanner error fields=spec.fields on_retry=save/>
            {move || error.with(|e| e.as_ref().is_some_and(|e| e.code() == "already_connected")).then_any(|| view! {
                <div class="confirm" data-confirm="replace">
                    <p>"Saving would replace the connection this organisation already has. Replace it?"</p>
                    <button type="button" class="danger" data-action="replace" disabled=move || run.busy()
                        on:click=move |_| { run.replace.set(true); save.run(()); }>"Replace the existing connection"</button>
                </div>
            })}
            {move || match connected.get() {
                None => view! {
                    <button type="button" class="primary" disabled=move || run.busy() on:click=move |_| save.run(())>
                        {move || if run.busy() { "Saving…" } else { "Save connection" }}
                    </button>
                }.into_any(),
                Some(integration) => view! {
                    <div class="banner ok" role="status" data-result="connected">"Connected. The connection is now in the integrations list."</div>
                    <IntegrationCard integration/>
                    <button type="button" class="primary" on:click=move |_| on_done.run(())>"Go to the integrations list"</button>
                }.into_any(),
            }}
        </section>
        <StepNav auth state/>
    }
}

//! Step 4*: the regions the role can see (ec2:DescribeRegions).

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, RegionsResponse};
use crate::auth::Auth;
use crate::model::Step;
use crate::ui::ErrorBanner;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn EnumerateStep(auth: Auth, state: WizardState) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let load = Callback::new(move |()| load(auth, state, error, busy));
    if state.regions.get_untracked().is_none() {
        load.run(());
    }
    view! {
        <section data-step="enumerate" aria-labelledby="step-enumerate-title" aria-busy=move || busy.get().to_string()>
            <StepHeading step=Step::EnumerateResources intro="The regions this role can see. AlphaSwarm lists them read-only."/>
            <ErrorBanner error=error.into() fields=&[] on_retry=load/>
            {move || busy.get().then(|| view! { <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Listing regions…"</p> })}
            {move || state.regions.get().map(|regions| view! { <EnumerateView regions/> })}
        </section>
        <StepNav auth state can_continue=Signal::derive(move || state.regions.with(Option::is_some))/>
    }
}

fn load(auth: Auth, state: WizardState, error: RwSignal<Option<ApiError>>, busy: RwSignal<bool>) {
    busy.set(true);
    error.set(None);
    let arn = state.role_arn.get_untracked().trim().to_owned();
    spawn_local(async move {
        let result = api::enumerate_resources(&auth.token(), &state.org(), &arn).await;
        busy.try_set(false);
        match result {
            Ok(r) => {
                state.regions.try_set(Some(r));
            }
            Err(e) => {
                if !auth.handle(&e, move || load(auth, state, error, busy)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}

#[component]
pub fn EnumerateView(regions: RegionsResponse) -> impl IntoView {
    let count = regions.regions.len();
    view! {
        <div class="table-wrap">
            <table class="regions">
                <caption>{format!("{count} regions")}</caption>
                <thead><tr><th scope="col">"Region"</th><th scope="col">"Endpoint"</th><th scope="col">"Opt-in status"</th></tr></thead>
                <tbody>
                    {regions.regions.into_iter().map(|r| {
                        let key = r.name.clone();
                        view! {
                        <tr data-region=key>
                            <th scope="row"><code>{r.name}</code></th>
                            <td><code>{r.endpoint}</code></td>
                            <td>{r.opt_in_status}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

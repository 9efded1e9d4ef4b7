//! The organisation picker: an org id validated as you type by the core.

use crate::api::ApiError;
use crate::ui::FieldError;
use alphaswarm_core::{CoreError, OrgId};
use leptos::prelude::*;

#[component]
pub fn OrgPicker(recent: RwSignal<Vec<OrgId>>, on_pick: Callback<OrgId>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let parsed = move || text.with(|t| OrgId::parse(t.trim()));
    // Only complain once something was typed.
    let error = Signal::derive(move || {
        if text.with(|t| t.trim().is_empty()) {
            None
        } else {
            parsed()
                .err()
                .map(|e| ApiError::local(e.at("org_id").to_body()))
        }
    });
    let submit = move || {
        if let Ok(org) = parsed() {
            on_pick.run(org);
        }
    };
    view! {
        <section class="panel" aria-labelledby="orgs-title" data-view="orgs">
            <h1 id="orgs-title">"Organisations"</h1>
            <form on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <div class="field">
                    <label for="org_id">"Organisation id"</label>
                    <div class="inline">
                        <input id="org_id" name="org_id" spellcheck="false" autocomplete="off" placeholder="acme-corp"
                            aria-describedby="org_id-help org_id-error"
                            aria-invalid=move || error.with(Option::is_some).to_string()
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))/>
                        <button type="submit" class="primary" disabled=move || parsed().is_err()>"Open"</button>
                    </div>
                    <p id="org_id-help" class="muted small">"Lowercase letters, digits, - and _. The admin tenant is under Settings → Cloud connections."</p>
                    <FieldError field="org_id" error/>
                </div>
            </form>
            {move || (!recent.with(Vec::is_empty)).then(|| view! {
                <h2 class="small-heading">"Recent"</h2>
                <ul class="recent">
                    {recent.get().into_iter().filter(|o| !o.is_platform()).map(|org| {
                        let label = org.as_str().to_owned();
                        view! { <li><button type="button" class="link" on:click=move |_| on_pick.run(org.clone())>{label}</button></li> }
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}

//! Step 4*'s result, for every cloud: what the identity can see, as a table
//! (AWS regions, Azure resource groups and locations, GCP regions, zones).

use crate::signal::CollectAny;
use crate::ui::attr;
use leptos::prelude::*;

/// `rows[i][0]` is the row's name (a row header, and its `data-row`).
#[component]
pub fn ResourceTable(
    class: &'static str,
    /// "17 regions", ...
    caption: String,
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class=class>
                <caption>{caption}</caption>
                <thead><tr>{headers.iter().map(|h| view! { <th {..attr("scope", "col")}>{*h}</th> }).collect_any()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let mut cells = row.into_iter();
                        let name = cells.next().unwrap_or_default();
                        let key = name.clone();
                        view! {
                            <tr data-row=key>
                                <th {..attr("scope", "row")}><code>{name}</code></th>
                                {cells.map(|c| view! { <td>{c}</td> }).collect_any()}
                            </tr>
                        }
                    }).collect_any()}
                </tbody>
            </table>
        </div>
    }
}

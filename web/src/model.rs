//! The wizard's view-model: the core's step model, plus what only the UI
//! needs (DOM slugs, the linear order of the step list and of the Back/Next
//! buttons, in the full list or a wizard's shorter one).

pub use alphaswarm_core::wizard::WizardStep as Step;

/// UI-only views of a [`Step`].
pub trait StepView: Sized {
    /// Stable id used in the DOM (`data-step`) and by the end-to-end tests.
    fn slug(self) -> &'static str;
    /// Position in [`Step::ALL`].
    fn index(self) -> usize;
    /// The step "Back" opens.
    fn previous(self) -> Option<Step>;
    /// The step "Next" opens: the first of the core's legal next steps (so
    /// the optional 4* is offered after 4).
    fn following(self) -> Option<Step>;
    /// The step before this one in `steps` (a wizard's own list).
    fn previous_in(self, steps: &[Step]) -> Option<Step>;
    /// The step after this one in `steps`.
    fn following_in(self, steps: &[Step]) -> Option<Step>;
}

impl StepView for Step {
    fn slug(self) -> &'static str {
        match self {
            Step::Choose => "choose",
            Step::Bootstrap => "bootstrap",
            Step::ValidateIdentity => "identity",
            Step::ValidatePermissions => "permissions",
            Step::EnumerateResources => "enumerate",
            Step::Connect => "connect",
        }
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn previous(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }

    fn following(self) -> Option<Step> {
        self.next().first().copied()
    }

    fn previous_in(self, steps: &[Step]) -> Option<Step> {
        let i = steps.iter().position(|s| *s == self)?;
        i.checked_sub(1).map(|i| steps[i])
    }

    fn following_in(self, steps: &[Step]) -> Option<Step> {
        let i = steps.iter().position(|s| *s == self)?;
        steps.get(i + 1).copied()
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn steps_in_order_with_the_optional_enumeration_offered() {
        assert_eq!(Step::Choose.following(), Some(Step::Bootstrap));
        assert_eq!(
            Step::ValidatePermissions.following(),
            Some(Step::EnumerateResources)
        );
        assert_eq!(Step::EnumerateResources.following(), Some(Step::Connect));
        assert_eq!(Step::Connect.following(), None);
        assert_eq!(Step::Choose.previous(), None);
        assert_eq!(Step::Connect.previous(), Some(Step::EnumerateResources));
        let slugs: Vec<_> = Step::ALL.into_iter().map(StepView::slug).collect();
        assert_eq!(
            slugs,
            [
                "choose",
                "bootstrap",
                "identity",
                "permissions",
                "enumerate",
                "connect"
            ]
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_wizard_s_own_list_orders_back_and_next() {
        // The full list agrees with the core's order.
        for step in Step::ALL {
            assert_eq!(step.following_in(&Step::ALL), step.following(), "{step}");
            assert_eq!(step.previous_in(&Step::ALL), step.previous(), "{step}");
        }
        // An account wizard: check the token, then save.
        let short = [Step::ValidateIdentity, Step::Connect];
        assert_eq!(Step::ValidateIdentity.previous_in(&short), None);
        assert_eq!(
            Step::ValidateIdentity.following_in(&short),
            Some(Step::Connect)
        );
        assert_eq!(Step::Connect.following_in(&short), None);
        assert_eq!(
            Step::Bootstrap.following_in(&short),
            None,
            "not in the list"
        );
    }
}

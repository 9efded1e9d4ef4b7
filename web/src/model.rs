//! The wizard's view-model: the core's step model and role-ARN parse, plus
//! what only the UI needs (DOM slugs, the linear order of the step list and
//! of the Back/Next buttons).

pub use alphaswarm_core::aws::RoleArn;
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
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use alphaswarm_core::CoreError;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn account_id_comes_from_the_arn() {
        let arn =
            RoleArn::parse("arn:aws:iam::012345678901:role/team/alphaswarm-broker-acme").unwrap();
        assert_eq!(arn.account_id.as_str(), "012345678901");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bad_arns_name_the_role_arn_field() {
        for bad in [
            "",
            "arn:aws:iam::12345:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:role/",
        ] {
            let err = RoleArn::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("role_arn"), "{bad}");
        }
    }

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
}

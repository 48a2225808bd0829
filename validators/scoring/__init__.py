"""Pure scoring functions: answers are verified and measured against the validator's own baseline."""

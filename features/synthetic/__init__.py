"""The synthetic CRM of a B2B office-supply distributor (``salesradar generate``).

Leads and customers carry hidden per-entity state (a lead's intent and funnel stage, a customer's
order cadence, risk and engagement) that evolves as a daily Markov chain; the events of the
export are drawn from that state, and conversions and churn are its exits. The ground truth is
the exact probability of each task's label given the hidden state at each monthly cutoff.
"""

from features.synthetic.generator import DEFAULT_AS_OF, GenerationSummary, generate_crm

__all__ = ["DEFAULT_AS_OF", "GenerationSummary", "generate_crm"]

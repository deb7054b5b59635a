"""Public datasets that ship inside packages on the package index, converted into the export
contract (docs/contract.md) for ``make bench-public`` (docs/public-benchmarks.md).

Each converter is a pure function from the dataset's raw tables (as the package ships or produces
them) to the contract's tables, keeping the dataset's own event vocabulary verbatim; reading the
package and writing the export happen at the edges (``sources``, ``exports``).
"""

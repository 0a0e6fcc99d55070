"""The calibration study: measured training runs, and the risk model and gap forecaster fitted to them.

``python -m study`` lists the pipeline's steps and what each would redo; ``python -m study STEP`` runs one.  The
steps, their inputs and outputs are in ``study.pipeline``; where every file lives is in ``study.paths``.  Nothing
here is imported by the ``cnnlint`` package.
"""

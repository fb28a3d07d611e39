"""Mammoth's intent model (AI潜客意向判断): event logs in, P(sign) per customer out.

Public entry points (none of them imports torch at import time; torch/transformers load lazily
inside the sequence backbones):

- ``ml.eventlog``: ``read_event_log(path)``, ``read_csv``, ``read_xes``, ``from_rows(rows)``,
  ``read_labels(path, label_column)`` -> ``EventLog`` / ``{case_id: 0|1}``
- ``ml.train``: ``train_model(log, labels, backbone)``, ``train_and_save(log, labels, folder, backbone)``
- ``ml.registry``: ``load_model(folder)``, ``save_model(model, folder, ...)``
- ``ml.scoring``: ``score_log(model, log)``, ``score_cases(model, cases)``, ``explain_case(model, case)``
- ``ml.evaluate``: ``evaluate(events, labels, ...)`` — the temporal-split comparison protocol
"""

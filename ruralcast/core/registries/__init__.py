"""The doors between apps: registries whose interfaces live at the bottom of the layers.

An app that has something to show elsewhere registers it here from its own `AppConfig.ready()`;
the app that shows it reads the registry. Neither imports the other:

- `figures`: operational figures (terminals installed, alert coverage, availability …) that
  reporting aggregates like entered values. Registered by the app that owns the data, read by
  reporting.
- `portal`: rails, tile types and pages of the villagers' portal. Registered by the apps that have
  something for villagers, read by the portal.
- `terminal_history`: sections of a terminal's history (work orders, alerts played) that apps above
  terminals register, read by the terminal's page.

All keep their entries in module-level dictionaries, filled once per process when Django calls
every `ready()`; registering a key again replaces the entry (tests, reloads). They import no
models, so they are safe to import from anywhere at any time.
"""

"""ruralcast-terminal: the software of a village loudspeaker terminal, and the protocol library it
shares with the platform (`protocol`, `crypto`: docs/protocols.md of the ruralcast repository)."""

__version__ = "0.1.0"

"""`/healthz` check of the broker: a bare MQTT CONNECT/CONNACK as the platform account, 2 s at most."""

import secrets
import socket

from django.conf import settings
from ruralcast_terminal.mqtt import CONNACK, CONNACK_REASONS, DISCONNECT_PACKET, connect_packet

from ruralcast.messaging.broker import platform_credentials

TIMEOUT_SECONDS = 2.0


def broker_check() -> tuple[bool, str]:
    config = settings.RURALCAST_MQTT
    host, port = config["HOST"], int(config["PORT"])
    try:
        username, password = platform_credentials()
        packet = connect_packet(
            f"rc-health-{secrets.token_hex(4)}", username=username, password=password, clean_session=True, keepalive=5
        )
        with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as sock:
            sock.settimeout(TIMEOUT_SECONDS)
            sock.sendall(packet)
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    break
                answer += chunk
            if len(answer) < 4 or answer[0] >> 4 != CONNACK:
                return False, f"{host}:{port}: no CONNACK"
            if answer[3] != 0:
                return False, f"{host}:{port}: {CONNACK_REASONS.get(answer[3], f'refused ({answer[3]})')}"
            sock.sendall(DISCONNECT_PACKET)
    except OSError as error:
        return False, f"{host}:{port}: {type(error).__name__}: {error}"
    return True, f"mqtt://{host}:{port}"

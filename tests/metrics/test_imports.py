"""Importing the package, its metrics and audit faces loads no metrics library or Redis."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_faces_imports_no_metrics_library() -> None:
    code = (
        "import json, sys\n"
        "import jwt_middleware, jwt_middleware.metrics, jwt_middleware.audit\n"
        "heavy = ('prometheus_client', 'opentelemetry', 'redis')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert json.loads(result.stdout) == []


def test_a_missing_library_names_its_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None\n"
        "sys.modules['opentelemetry'] = None\n"
        "from jwt_middleware.metrics import OpenTelemetryMetrics, PrometheusMetrics\n"
        "for make in (PrometheusMetrics, OpenTelemetryMetrics):\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert "pip install 'jwt-middleware[prometheus]'" in result.stdout
    assert "pip install 'jwt-middleware[otel]'" in result.stdout

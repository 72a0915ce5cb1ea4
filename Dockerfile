# LeadScout: one image for the UI, the RQ workers and the receiver (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 leadscout

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=leadscout:leadscout . .
RUN mkdir -p /app/data && chown leadscout:leadscout /app/data

USER leadscout
EXPOSE 8501 8502
CMD ["streamlit", "run", "server.py", "--server.address", "0.0.0.0", "--server.port", "8501"]

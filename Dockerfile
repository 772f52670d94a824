FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY queue_engine ./queue_engine
RUN pip install --no-cache-dir .
ENV ANTRE_LOG_URL=sqlite:////data/antre.db
VOLUME ["/data"]
CMD ["antre", "serve"]

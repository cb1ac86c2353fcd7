FROM python:3.11-slim
WORKDIR /srv/bullpen
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY workers ./workers
COPY tasks ./tasks
COPY data ./data
RUN pip install --no-cache-dir -c constraints.txt .
ENV BULLPEN_VAR_DIR=/var/lib/bullpen
EXPOSE 8000
CMD ["bullpen", "api", "--host", "0.0.0.0"]

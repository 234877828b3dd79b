.PHONY: demo test services worker beat bench
demo:        ## set up and start the demo on http://localhost:8000
	bash scripts/demo.sh
test:        ## set up and run the whole suite (PostgreSQL + Redis + ruff)
	bash scripts/test.sh
services:    ## start local PostgreSQL and Redis if they are down
	bash scripts/services.sh
worker:      ## a Celery worker for development (needs REDIS_URL; production: README)
	DEBUG=$${DEBUG:-true} .venv/bin/celery -A medins worker -l info
beat:        ## Celery beat with the schedules kept in the database (editable in the admin)
	DEBUG=$${DEBUG:-true} .venv/bin/celery -A medins beat -l info

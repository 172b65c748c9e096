"""How the matrix calls the API as a machine (filled in by the API plumbing)."""


def authenticate_api_client(client, user):
    raise NotImplementedError("API clients arrive with the API plumbing issue")

mod admin_response_seeds;
mod response_seeds;
mod response_walks;

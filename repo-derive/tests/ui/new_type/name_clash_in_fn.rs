use repo_core::prelude::*;

fn main() {
    // An entity declared in a function body, beside a type of the generated name.
    struct NewWidget;

    #[derive(Repository)]
    #[repo(table = "widgets")]
    struct Widget {
        #[repo(primary_key, auto)]
        id: i64,
        name: String,
    }

    let _ = NewWidget;
}
